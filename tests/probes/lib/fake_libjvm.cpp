// A stand-in for HotSpot's libjvm.so, built under that name: a class Mutex
// whose lock() takes a pthread mutex, and a "VM Thread" that ends, as
// HotSpot's does, holding the lock that keeps the other threads stopped
// (vmThread.cpp: the VM Thread's run() ends at a safepoint it never leaves).
#include <pthread.h>

class Mutex {
  public:
    __attribute__((noinline)) void lock() { pthread_mutex_lock(&m_); }
    __attribute__((noinline)) void unlock() { pthread_mutex_unlock(&m_); }

  private:
    pthread_mutex_t m_ = PTHREAD_MUTEX_INITIALIZER;
};

static Mutex threads_lock;

extern "C" void *
fake_jvm_vm_thread(void *)
{
    threads_lock.lock(); // and never unlock(): the VM is going away
    return nullptr;
}
