/*
 * The command line: `causeway validate` today, `causeway run` with the data plane. Each command
 * parses its own options and returns the process exit code (0 ok, 1 invalid configuration,
 * 2 usage error).
 */
#ifndef CW_CLI_H
#define CW_CLI_H

int cw_cli_validate(int argc, char **argv);
int cw_cli_run(int argc, char **argv);

/* Prints the top-level usage to stdout. */
void cw_cli_usage(void);

#endif
