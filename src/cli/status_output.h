/* Printing translation results: a kubectl-like table, or status blocks as YAML or JSON. */
#ifndef CW_CLI_STATUS_OUTPUT_H
#define CW_CLI_STATUS_OUTPUT_H

#include <stdio.h>

#include "cli/options.h"
#include "config/config.h"
#include "translate/translate.h"

/* Writes one row or item per object of <cfg>, in load order. */
void cw_print_statuses(FILE *out, enum cw_output_format format, const struct cw_config *cfg,
                       const struct cw_translation *tr);

#endif
