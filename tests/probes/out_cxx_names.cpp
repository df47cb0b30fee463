/* A C++ program: two threads move things between two shelves in opposite
 * orders, inside a class template's method in a namespace, and one of the
 * locks is a global in the namespace. Reports must name them as C++ does:
 * kitchen::Shelf<int>::move_to(kitchen::Shelf<int>&), kitchen::pantry_lock.
 * EXPECT: lock-order-inversion */
#include <pthread.h>

namespace kitchen {

pthread_mutex_t pantry_lock = PTHREAD_MUTEX_INITIALIZER;

template <typename T> class Shelf {
  public:
    explicit Shelf(pthread_mutex_t *lock) : lock_(lock) {}
    __attribute__((noinline)) void move_to(Shelf &other)
    {
        pthread_mutex_lock(lock_);
        pthread_mutex_lock(other.lock_);
        T item = items_;
        items_ = 0;
        other.items_ += item;
        pthread_mutex_unlock(other.lock_);
        pthread_mutex_unlock(lock_);
    }

  private:
    pthread_mutex_t *lock_;
    T items_ = 1;
};

} // namespace kitchen

static pthread_mutex_t fridge_lock = PTHREAD_MUTEX_INITIALIZER;
static kitchen::Shelf<int> pantry(&kitchen::pantry_lock), fridge(&fridge_lock);

static void *to_fridge(void *) { pantry.move_to(fridge); return nullptr; }
static void *to_pantry(void *) { fridge.move_to(pantry); return nullptr; }

int
main()
{
    pthread_t t;
    pthread_create(&t, nullptr, to_fridge, nullptr);
    pthread_join(t, nullptr);
    pthread_create(&t, nullptr, to_pantry, nullptr);
    pthread_join(t, nullptr);
    return 0;
}
