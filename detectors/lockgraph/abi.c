/*
 * abi.c - glibc's pthread object layouts (abi.h says what is read and why).
 */
#include "abi.h"

#include <pthread.h>
#include <stdatomic.h>

static int
load_int(const void *p)
{
    return atomic_load_explicit((const _Atomic int *)p, memory_order_relaxed);
}

int
lg_abi_mutex_kind(uintptr_t m)
{
    return load_int(&((const pthread_mutex_t *)m)->__data.__kind) & 3;
}

bool
lg_abi_mutex_robust(uintptr_t m)
{
    return (load_int(&((const pthread_mutex_t *)m)->__data.__kind) & 16) != 0;
}

bool
lg_abi_mutex_locked(uintptr_t m)
{
    return load_int(&((const pthread_mutex_t *)m)->__data.__lock) != 0;
}

long
lg_abi_mutex_owner(uintptr_t m)
{
    return load_int(&((const pthread_mutex_t *)m)->__data.__owner);
}

bool
lg_abi_mutex_kind_valid(uintptr_t m, int *kind)
{
    /* glibc's pthreadP.h: the type in bits 0-1, robust 16, priority
     * inheritance 32, priority protection 64, process-shared 128, elision
     * 256 and 512. */
    int k = load_int(&((const pthread_mutex_t *)m)->__data.__kind);
    if (kind)
        *kind = k;
    return (k & ~(3 | 16 | 32 | 64 | 128 | 256 | 512)) == 0;
}

/* glibc 2.36 nptl/pthread_barrier_*.c: unsigned in, current_round, count;
 * int shared; unsigned out. */
unsigned
lg_abi_barrier_count(uintptr_t b)
{
    return (unsigned)load_int((const unsigned *)b + 2);
}

/* glibc 2.36: a mutex's kind has PTHREAD_MUTEX_PSHARED_BIT (128); a
 * condition variable's __wrefs has __PTHREAD_COND_SHARED_MASK (1); an
 * rwlock's __shared, a barrier's `shared` and a semaphore's `private` (the
 * int after its 64-bit value) hold the futex flag for shared (128), 0 when
 * private. */
bool
lg_abi_mutex_pshared(uintptr_t m)
{
    return (load_int(&((const pthread_mutex_t *)m)->__data.__kind) & 128) != 0;
}

bool
lg_abi_rwlock_pshared(uintptr_t rw)
{
    return load_int(&((const pthread_rwlock_t *)rw)->__data.__shared) != 0;
}

bool
lg_abi_cond_pshared(uintptr_t c)
{
    return (load_int(&((const pthread_cond_t *)c)->__data.__wrefs) & 1) != 0;
}

bool
lg_abi_barrier_pshared(uintptr_t b)
{
    return load_int((const int *)b + 3) != 0;
}

bool
lg_abi_sem_pshared(uintptr_t s)
{
    return load_int((const int *)s + 2) != 0;
}

long
lg_abi_rwlock_writer(uintptr_t rw)
{
    return load_int(&((const pthread_rwlock_t *)rw)->__data.__cur_writer);
}

bool
lg_abi_rwlock_locked(uintptr_t rw)
{
    unsigned readers = (unsigned)load_int(&((const pthread_rwlock_t *)rw)->__data.__readers);
    return lg_abi_rwlock_writer(rw) != 0 || (readers >> 3) != 0; /* RWLOCK_READER_SHIFT */
}

bool
lg_abi_spin_locked(uintptr_t s)
{
    return load_int((const void *)s) <= 0;
}

size_t
lg_abi_mutex_size(void)
{
    return sizeof(pthread_mutex_t);
}

size_t
lg_abi_rwlock_size(void)
{
    return sizeof(pthread_rwlock_t);
}

size_t
lg_abi_spin_size(void)
{
    return sizeof(pthread_spinlock_t);
}

size_t
lg_abi_mutex_align(void)
{
    return _Alignof(pthread_mutex_t);
}

size_t
lg_abi_barrier_size(void)
{
    return sizeof(pthread_barrier_t);
}
