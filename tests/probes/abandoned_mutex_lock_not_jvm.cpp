// A program's own class Mutex, whose lock() a thread calls and then exits
// holding it: the built-in suppression for HotSpot's Mutex::lock names
// libjvm.so, so the program's own Mutex::lock is reported.
// EXPECT: abandoned-lock
#include <pthread.h>

class Mutex {
  public:
    __attribute__((noinline)) void lock() { pthread_mutex_lock(&m_); }

  private:
    pthread_mutex_t m_ = PTHREAD_MUTEX_INITIALIZER;
};

static Mutex m;

static void *
leaves_holding(void *)
{
    m.lock();
    return nullptr;
}

int
main()
{
    pthread_t t;
    if (pthread_create(&t, nullptr, leaves_holding, nullptr) != 0 || pthread_join(t, nullptr) != 0)
        return 3;
    return 0;
}
