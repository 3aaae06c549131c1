/* cmd_demo: placeholder until the engine's ops land. */
#include <stdio.h>
#include "cli.h"
int cmd_demo(int argc, char **argv) {
    (void)argc; (void)argv;
    fprintf(stderr, "lengen demo: the engine's ops are not built yet\n");
    return 1;
}
