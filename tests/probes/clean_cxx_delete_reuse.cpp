// C++ objects with a std::mutex member, deleted and newed again at the
// same addresses in swapped roles. std::mutex is set up by a constant
// initializer and its destructor does nothing, so pthread_mutex_init and
// pthread_mutex_destroy are never called: only operator delete (free) says
// the lock is gone. Nesting parent -> child for both pairs is no inversion.
// The probe checks that the addresses were reused, else it proves nothing
// (exit 3).
// EXPECT: none
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <thread>

struct Node {
    std::mutex m;
    long value = 0;
};

static void
update(Node *parent, Node *child)
{
    std::lock_guard<std::mutex> p(parent->m);
    std::lock_guard<std::mutex> c(child->m);
    child->value = ++parent->value;
}

int
main()
{
    Node *parent = new Node, *child = new Node;
    std::thread(update, parent, child).join();
    auto was_parent = reinterpret_cast<std::uintptr_t>(parent);
    auto was_child = reinterpret_cast<std::uintptr_t>(child);
    delete parent;
    delete child;
    parent = new Node; // the last deleted first: where the child was
    child = new Node;
    if (reinterpret_cast<std::uintptr_t>(parent) != was_child
        || reinterpret_cast<std::uintptr_t>(child) != was_parent) {
        std::fprintf(stderr, "the allocator did not reuse the addresses: the probe proves nothing\n");
        return 3;
    }
    std::thread(update, parent, child).join();
    delete parent;
    delete child;
    return 0;
}
