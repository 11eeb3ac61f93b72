/*
 * The manifest loader (config/config.h): YAML documents through libfyaml into typed resources,
 * every problem a diagnostic. Input: the text of one manifest file. Checked: memory safety,
 * no undefined behaviour, no leak, and that every diagnostic prints (its strings are valid).
 */
#include <stdint.h>
#include <stdio.h>

#include "config/config.h"
#include "util/diag.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static FILE *sink;
    if (!sink)
        sink = fopen("/dev/null", "w");
    struct cw_config cfg;
    struct cw_diags diags;
    cw_config_init(&cfg);
    cw_diags_init(&diags);
    cw_config_load_buffer(&cfg, "fuzz.yaml", (const char *)data, size, &diags);
    cw_diags_print(&diags, sink);
    cw_diags_deinit(&diags);
    cw_config_deinit(&cfg);
    return 0;
}
