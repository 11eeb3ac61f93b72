/* causeway: command-line entry. Dispatches to the commands in src/cli/; nothing else. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

#define CAUSEWAY_VERSION "0.1.0"

void cw_cli_usage(void)
{
    fputs("causeway — a gateway to external services, configured with Gloo Platform manifests\n"
          "\n"
          "Usage: causeway COMMAND [options]\n"
          "\n"
          "Commands:\n"
          "  run        serve the manifests: route HTTP and TCP to external services\n"
          "  validate   load manifests and print the status of every resource\n"
          "  version    print the version\n"
          "  help       show this help\n"
          "\n"
          "Run 'causeway COMMAND --help' for the options of a command.\n",
          stdout);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        cw_cli_usage();
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "validate"))
        return cw_cli_validate(argc - 1, argv + 1);
    if (!strcmp(cmd, "run"))
        return cw_cli_run(argc - 1, argv + 1);
    if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
        printf("causeway %s\n", CAUSEWAY_VERSION);
        return 0;
    }
    if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
        cw_cli_usage();
        return 0;
    }
    fprintf(stderr, "causeway: unknown command %s (see causeway --help)\n", cmd);
    return 2;
}
