/* The program of clean_ordered_through_a_third_thread, with the default
 * options: lock order is a property of the code, so the cycle is reported,
 * as "ordered" (thread creation and join kept the two orders apart), and
 * the report names the chain.
 * REPORT: creation or join .T2 took its order. then T2 created T3, then T3 was joined by T1
 * EXPECT: lock-order-inversion */
#include "clean_ordered_through_a_third_thread.c"
