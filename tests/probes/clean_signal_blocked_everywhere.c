/* Every thread of the program blocks SIGUSR1, and the process is sent one:
 * the signal must stay pending until the program unblocks it, as it does
 * without lockgraph. lockgraph's own thread (its liveness monitor, started
 * here by the first pthread_create) blocks every signal; before, it took
 * the signal and ran the program's handler behind the program's back
 * (bash blocks SIGCHLD while it edits its job table, and crashed or hung).
 * The probe waits 300 ms for a handler that must not run, then unblocks
 * and checks that the handler ran then, on main.
 * EXPECT: none */
#include "probe.h"
#include <signal.h>
#include <unistd.h>
static atomic_int ran_on; /* the tid the handler ran on, 0 not yet */
static pthread_barrier_t blocked, done;
static void on_usr1(int sig) { (void)sig; atomic_store(&ran_on, (int)gettid()); }
static void block_usr1(void) {
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGUSR1);
    CHECK(pthread_sigmask(SIG_BLOCK, &s, NULL));
}
static void *worker(void *x) {
    (void)x;
    block_usr1();
    pthread_barrier_wait(&blocked);
    pthread_barrier_wait(&done);
    return NULL;
}
int main(void) {
    struct sigaction sa = { .sa_handler = on_usr1 };
    sigemptyset(&sa.sa_mask);
    CHECK(sigaction(SIGUSR1, &sa, NULL));
    CHECK(pthread_barrier_init(&blocked, NULL, 2));
    CHECK(pthread_barrier_init(&done, NULL, 2));
    pthread_t t;
    CHECK(pthread_create(&t, NULL, worker, NULL)); /* main's mask is still empty here */
    block_usr1();
    pthread_barrier_wait(&blocked);
    kill(getpid(), SIGUSR1);
    for (int i = 0; i < 30 && !atomic_load(&ran_on); i++)
        nanosleep(&(struct timespec){ 0, 10000000 }, NULL);
    int early = atomic_load(&ran_on);
    sigset_t pending;
    sigpending(&pending);
    bool still = sigismember(&pending, SIGUSR1);
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGUSR1);
    CHECK(pthread_sigmask(SIG_UNBLOCK, &s, NULL)); /* delivered to main, now */
    int late = atomic_load(&ran_on);
    pthread_barrier_wait(&done);
    CHECK(pthread_join(t, NULL));
    if (early || !still || late != (int)gettid()) {
        fprintf(stderr, "SIGUSR1 %s: handler ran on tid %d before the unblock, on %d after "
                "(main is %d)\n", still ? "pending" : "not pending", early, late, (int)gettid());
        return 1;
    }
    printf("SIGUSR1 stayed pending until main unblocked it\n");
    return 0;
}
