/* report_json.c - the machine-readable report of --json and probe --json. */
#include <jansson.h>

#include "cli/cli.h"

static json_t *hex_color(const unsigned char rgb[3])
{
    char buf[8];
    snprintf(buf, sizeof buf, "#%02x%02x%02x", rgb[0], rgb[1], rgb[2]);
    return json_string(buf);
}

char *cli_report_json(const char *input, const char *output, const pf_report *rep)
{
    static const char *bg_kinds[] = {"none", "solid", "gradient", "alpha", "field"};
    json_t *o = json_object(), *grid = json_object(), *durs = json_array(), *pal = json_array(),
           *drift = json_array(), *timing = json_object(), *cand = json_array();
    char *text;

    for (int i = 0; i < rep->frames_out; i++) json_array_append_new(durs, json_integer(rep->durations_ms[i]));
    for (int i = 0; i < rep->palette_size; i++) json_array_append_new(pal, hex_color(rep->palette[i]));
    for (int i = 0; rep->drift_x && i < rep->frames_in; i++) {
        json_t *d = json_array();
        json_array_append_new(d, json_real(rep->drift_x[i]));
        json_array_append_new(d, json_real(rep->drift_y[i]));
        json_array_append_new(drift, d);
    }
    for (int i = 0; i < rep->n_candidates; i++)
        json_array_append_new(cand, json_pack("{s:f,s:f,s:i,s:i}", "scale", rep->candidate_cell[i], "confidence",
                                              rep->candidate_confidence[i], "native_w",
                                              cli_cells(rep->in_width, rep->candidate_cell[i]), "native_h",
                                              cli_cells(rep->in_height, rep->candidate_cell[i])));
    json_object_set_new(grid, "kind", json_string(rep->grid_kind == PF_GRID_ELASTIC ? "elastic" : "regular"));
    json_object_set_new(grid, "bend_cells", json_real(rep->bend));
    json_object_set_new(grid, "candidates", cand);
    json_object_set_new(grid, "cell_w", json_real(rep->cell_w));
    json_object_set_new(grid, "cell_h", json_real(rep->cell_h));
    json_object_set_new(grid, "offset_x", json_real(rep->offset_x));
    json_object_set_new(grid, "offset_y", json_real(rep->offset_y));
    json_object_set_new(grid, "confidence", json_real(rep->confidence));
    json_object_set_new(grid, "forced", json_boolean(rep->scale_forced));
    json_object_set_new(grid, "drift", drift);
    json_object_set_new(timing, "decode_ms", json_real(rep->ms_decode));
    json_object_set_new(timing, "grid_ms", json_real(rep->ms_grid));
    json_object_set_new(timing, "restore_ms", json_real(rep->ms_restore));
    json_object_set_new(timing, "model_ms", json_real(rep->ms_model));
    json_object_set_new(timing, "palette_ms", json_real(rep->ms_palette));
    json_object_set_new(timing, "encode_ms", json_real(rep->ms_encode));
    json_object_set_new(timing, "total_ms", json_real(rep->ms_total));

    json_object_set_new(o, "pixelfix", json_string(pf_version()));
    json_object_set_new(o, "input", json_string(input));
    json_object_set_new(o, "output", output ? json_string(output) : json_null());
    json_object_set_new(o, "format", json_string(rep->input_format));
    json_object_set_new(o, "input_size", json_pack("{s:i,s:i}", "w", rep->in_width, "h", rep->in_height));
    json_object_set_new(o, "frames_in", json_integer(rep->frames_in));
    json_object_set_new(o, "frames_out", json_integer(rep->frames_out));
    json_object_set_new(o, "frames_held", json_integer(rep->frames_held));
    json_object_set_new(o, "durations_ms", durs);
    json_object_set_new(o, "total_ms", json_integer(rep->total_ms));
    json_object_set_new(o, "grid", grid);
    json_object_set_new(o, "native_size", json_pack("{s:i,s:i}", "w", rep->native_w, "h", rep->native_h));
    json_object_set_new(o, "crop", json_pack("{s:i,s:i}", "x", rep->crop_x, "y", rep->crop_y));
    json_object_set_new(o, "background", json_pack("{s:s,s:o}", "kind",
                        bg_kinds[rep->bg_kind >= PF_BGK_NONE && rep->bg_kind <= PF_BGK_FIELD ? rep->bg_kind : PF_BGK_NONE], "color",
                        rep->bg_kind == PF_BGK_SOLID || rep->bg_kind == PF_BGK_GRADIENT
                            ? hex_color(rep->bg_rgb) : json_null()));
    json_object_set_new(o, "palette_size", json_integer(rep->palette_size));
    json_object_set_new(o, "palette", pal);
    /* model.path: the file that ran, null on the classical path */
    json_object_set_new(o, "model", rep->model_path ? json_pack("{s:s,s:i,s:i}", "path", rep->model_path,
                        "window", rep->window, "overlap", rep->overlap) : json_pack("{s:n}", "path"));
    json_object_set_new(o, "timing", timing);
    json_object_set_new(o, "memory_bytes", json_integer(rep->mem_bytes));
    text = json_dumps(o, JSON_INDENT(2) | JSON_REAL_PRECISION(6));
    json_decref(o);
    return text;
}
