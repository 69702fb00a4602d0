/* color.c - colour values as options give them (pf_parse_color). */
#include "base/common.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

pf_status pf_parse_color(const char *s, uint8_t rgb[3])
{
    static const struct { const char *name; uint8_t rgb[3]; } named[] = {
        {"magenta", {255, 0, 255}}, {"white", {255, 255, 255}}, {"black", {0, 0, 0}},
        {"green", {0, 255, 0}}, {"blue", {0, 0, 255}}, {"red", {255, 0, 0}},
        {"cyan", {0, 255, 255}}, {"yellow", {255, 255, 0}},
    };
    char hex[7];
    size_t n;

    if (!s || !rgb) return PF_EINVAL;
    for (size_t i = 0; i < sizeof named / sizeof named[0]; i++)
        if (strcasecmp(s, named[i].name) == 0) {
            memcpy(rgb, named[i].rgb, 3);
            return PF_OK;
        }
    if (*s == '#') s++;
    n = strlen(s);
    if (n != 3 && n != 6) return PF_EINVAL;
    for (size_t i = 0; i < n; i++)
        if (!isxdigit((unsigned char)s[i])) return PF_EINVAL;
    for (size_t i = 0; i < 6; i++) hex[i] = n == 3 ? s[i / 2] : s[i];   /* #abc = #aabbcc */
    hex[6] = 0;
    unsigned long v = strtoul(hex, NULL, 16);
    rgb[0] = (uint8_t)(v >> 16);
    rgb[1] = (uint8_t)(v >> 8);
    rgb[2] = (uint8_t)v;
    return PF_OK;
}
