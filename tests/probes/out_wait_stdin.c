/* Reads its standard input to the end before it takes any lock, then
 * takes two locks in both orders: lets tests/test_outputs.py change the
 * world (close the reader of a FIFO, ...) after lockgraph has opened its
 * outputs and before the report is written.
 * EXPECT: lock-order-inversion */
#include "probe.h"

#include <unistd.h>

int
main(void)
{
    char buf[256];
    while (read(0, buf, sizeof buf) > 0)
        ;
    inversion();
    return 0;
}
