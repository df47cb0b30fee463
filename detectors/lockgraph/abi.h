/*
 * abi.h - what lockgraph knows of glibc's lock objects (x86-64, glibc 2.34
 * and later): where a mutex keeps its kind, its lock word and its owner,
 * what an rwlock says about its writer and readers, what a spinlock's word
 * means. The one place that reads the insides of pthread objects; check.c,
 * locks.c and the interposers all ask here.
 *
 * Every function takes the object's address and only reads it (relaxed
 * atomic loads: the object belongs to the program and may be changing).
 */
#ifndef LG_ABI_H
#define LG_ABI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What a mutex's kind field says (PTHREAD_MUTEX_KIND_MASK_NP): 0 normal,
 * 1 recursive, 2 error-checking, 3 adaptive (a normal mutex for us). */
int lg_abi_mutex_kind(uintptr_t m);
bool lg_abi_mutex_robust(uintptr_t m);
/* The lock word is non-zero: somebody holds it. */
bool lg_abi_mutex_locked(uintptr_t m);
/* The owner's tid as the mutex records it (0: none). */
long lg_abi_mutex_owner(uintptr_t m);
/* The kind word is one glibc can have made: the type (0..3) and its flag
 * bits, nothing else. pthread_mutex_destroy writes -1 there, and garbage
 * rarely looks valid; all zeros (PTHREAD_MUTEX_INITIALIZER, or memory never
 * set up) does. Its value goes to *kind. */
bool lg_abi_mutex_kind_valid(uintptr_t m, int *kind);

/* The writer's tid (0: no writer). */
long lg_abi_rwlock_writer(uintptr_t rw);
/* Held for writing or by at least one reader. */
bool lg_abi_rwlock_locked(uintptr_t rw);

/* On x86-64 glibc a spinlock holds 1 when free and 0 (or less, when
 * contended) when taken. */
bool lg_abi_spin_locked(uintptr_t s);

/* A barrier's count as pthread_barrier_init stored it (glibc keeps it for
 * the barrier's life). */
unsigned lg_abi_barrier_count(uintptr_t b);

/* The object was set up PTHREAD_PROCESS_SHARED (a semaphore: sem_init with
 * pshared non-zero, or sem_open): a thread of another process may take,
 * release, signal, post or arrive at it, and lockgraph in this process
 * sees none of that. Spinlocks record nothing (pthread_spin_init's
 * argument is all there is). */
bool lg_abi_mutex_pshared(uintptr_t m);
bool lg_abi_rwlock_pshared(uintptr_t rw);
bool lg_abi_cond_pshared(uintptr_t c);
bool lg_abi_barrier_pshared(uintptr_t b);
bool lg_abi_sem_pshared(uintptr_t s);

size_t lg_abi_mutex_size(void);
size_t lg_abi_mutex_align(void);
size_t lg_abi_barrier_size(void);
size_t lg_abi_rwlock_size(void);
size_t lg_abi_spin_size(void);

#endif /* LG_ABI_H */
