/* Between two reports, the file named by the environment variable
 * OUT_ROTATE (when set) is renamed to <name>.1, as log rotation does:
 * lockgraph's next report must go to a new file at the old name, as it
 * would if it opened the path for each report (tests/test_outputs.py).
 * EXPECT: lock-order-inversion */
#include "probe.h"

#include <stdio.h>

int
main(void)
{
    inversion();
    const char *name = getenv("OUT_ROTATE");
    if (name) {
        char old[4096];
        snprintf(old, sizeof old, "%s.1", name);
        if (rename(name, old) != 0)
            exit(3);
    }
    inversion();
    return 0;
}
