/* A plain C11 mutex taken twice by its owner: it would hang for ever (glibc
 * blocks, as for a normal pthread mutex). Reported before the thread blocks,
 * then the process exits 66 instead of hanging.
 * EXPECT: self-deadlock */
#include <stdio.h>
#include <stdlib.h>
#include <threads.h>
static mtx_t pot;
static void add_garlic(void) { mtx_lock(&pot); mtx_unlock(&pot); }
static void add_potato(void) { mtx_lock(&pot); add_garlic(); mtx_unlock(&pot); }
int main(void) {
    if (mtx_init(&pot, mtx_plain) != thrd_success) { fprintf(stderr, "mtx_init failed\n"); return 3; }
    add_potato();
    return 0;
}
