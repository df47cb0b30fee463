/* For the probe inversion_stripped_library: a library built without debug
 * information and stripped to its dynamic symbols. Its two lock-order
 * functions are static, so no symbol names them; the exported function
 * just before them in the text is tiny (clang lays functions out in the
 * order written). */
#include <pthread.h>

static pthread_mutex_t first = PTHREAD_MUTEX_INITIALIZER, second = PTHREAD_MUTEX_INITIALIZER;

int stripped_tiny(int x) { return x + 1; }

__attribute__((noinline)) static void
first_then_second(void)
{
    pthread_mutex_lock(&first);
    pthread_mutex_lock(&second);
    pthread_mutex_unlock(&second);
    pthread_mutex_unlock(&first);
}

__attribute__((noinline)) static void
second_then_first(void)
{
    pthread_mutex_lock(&second);
    pthread_mutex_lock(&first);
    pthread_mutex_unlock(&first);
    pthread_mutex_unlock(&second);
}

void
stripped_both_orders(void)
{
    first_then_second();
    second_then_first();
}
