/* Options shared by the commands that load manifests (private to cli/). */
#ifndef CW_CLI_OPTIONS_H
#define CW_CLI_OPTIONS_H

#include <stdio.h>

#include "config/config.h"
#include "config/config_types.h"
#include "translate/translate.h"
#include "util/arena.h"

enum cw_output_format {
    CW_OUTPUT_TABLE = 0,
    CW_OUTPUT_YAML,
    CW_OUTPUT_JSON,
};

struct cw_common_options {
    struct cw_arena arena;
    const char **paths;
    unsigned n_paths;
    struct cw_gateway_identity gateway;
    enum cw_output_format output;
};

/* Result of trying one argument: consumed it (and maybe its value), not ours, or a usage error. */
enum cw_opt_result {
    CW_OPT_TAKEN = 0,
    CW_OPT_UNKNOWN,
    CW_OPT_ERROR,
};

/* The defaults, and --locality from the environment's CAUSEWAY_LOCALITY (as a Kubernetes
 * Downward API sets it from the node's topology labels; --locality still wins). 0, or 2 (the
 * exit status) with a message when the variable cannot be read as a locality. */
int cw_common_options_init(struct cw_common_options *o);
void cw_common_options_deinit(struct cw_common_options *o);

/*
 * Tries argv[*i] (and argv[*i + 1] for options with a value) as a common option, advancing *i
 * past what it consumed. Reports usage errors on stderr.
 */
enum cw_opt_result cw_common_option(struct cw_common_options *o, int argc, char **argv, int *i);

/* Manifests loaded and translated for the gateway the options describe. */
struct cw_loaded {
    struct cw_config cfg;
    struct cw_diags diags;
    struct cw_translation tr;
    bool unreadable; /* some -c path could not be read at all */
};

/* Loads every -c path of <o>, translates, and prints the diagnostics on stderr. */
void cw_load_and_translate(const struct cw_common_options *o, struct cw_loaded *l);
void cw_loaded_free(struct cw_loaded *l);

/* Help text for the common options. */
void cw_common_options_help(FILE *out);

#endif
