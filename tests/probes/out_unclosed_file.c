/* A program that writes a line to a file it never closes (glibc's exit
 * flushes it), after an inversion: when lockgraph sets the exit status, the
 * line must still reach the file. It was lost: lockgraph ended the process
 * before glibc's flush. The file is argv[1] (test_outputs.py:
 * exit_keeps_unclosed_files); without one, only the inversion.
 * EXPECT: lock-order-inversion */
#include "probe.h"
int main(int argc, char **argv) {
    FILE *f = argc > 1 ? fopen(argv[1], "w") : NULL;
    if (argc > 1 && !f)
        return 3;
    if (f)
        fputs("line the program never flushed\n", f);
    inversion();
    return 0;
}
