/* A multithreaded program forks while another thread is busy with locks;
 * the child keeps using locks (and lockgraph keeps working in it), then
 * exits 0.
 * EXPECT: none */
#include "probe.h"
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/wait.h>
#include <unistd.h>
static pthread_mutex_t a = PTHREAD_MUTEX_INITIALIZER, b = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t c = PTHREAD_MUTEX_INITIALIZER, d = PTHREAD_MUTEX_INITIALIZER;
static atomic_bool stop;
/* In the child only: a and b may have been held by the busy thread when
 * fork() copied them, so the child uses locks nobody held. */
static void *child_work(void *x) {
    (void)x;
    for (int i = 0; i < 1000; i++) { pthread_mutex_lock(&c); pthread_mutex_lock(&d); pthread_mutex_unlock(&d); pthread_mutex_unlock(&c); }
    return NULL;
}
static void *busy(void *x) {
    (void)x;
    while (!atomic_load(&stop)) { pthread_mutex_lock(&a); pthread_mutex_lock(&b); pthread_mutex_unlock(&b); pthread_mutex_unlock(&a); }
    return NULL;
}
int main(void) {
    pthread_t t;
    CHECK(pthread_create(&t, NULL, busy, NULL));
    for (int k = 0; k < 20; k++) {
        pid_t pid = fork();
        if (pid == 0) {
            pthread_t u;
            child_work(NULL);
            if (pthread_create(&u, NULL, child_work, NULL) != 0 || pthread_join(u, NULL) != 0) _exit(1);
            _exit(0);
        }
        int status;
        if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) return 1;
    }
    atomic_store(&stop, true);
    CHECK(pthread_join(t, NULL));
    return 0;
}
