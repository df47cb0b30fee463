/*
 * semaphore_oversubscription (fixed): a charging station has PORTS ports,
 * counted by a semaphore. The faulty cable's error path no longer gives the
 * port back itself: it goes to the common cleanup, which posts exactly once
 * for the one wait. The count stays at PORTS, the fifth phone waits for a
 * free port, and at most PORTS phones are ever plugged in at once.
 */
#include "rb.h"

#include <errno.h>
#include <semaphore.h>

#define PORTS 4
#define PHONES (PORTS + 1)
#define WAIT_MS 1000

static sem_t ports;
static pthread_mutex_t station_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t plugged_in = PTHREAD_COND_INITIALIZER; /* the station waits */
static pthread_cond_t closing_time = PTHREAD_COND_INITIALIZER; /* the phones wait */
static int plugged, most_plugged;
static bool closing; /* the phones stay plugged in until closing time */

static int
charge(bool faulty_cable)
{
    int rc = 0;
    RB_CHECK(sem_wait(&ports) ? errno : 0);
    if (faulty_cable) {
        rc = EIO;
        goto out;
    }
    pthread_mutex_lock(&station_mu);
    if (++plugged > most_plugged)
        most_plugged = plugged;
    pthread_cond_signal(&plugged_in);
    while (!closing)
        pthread_cond_wait(&closing_time, &station_mu);
    plugged--;
    pthread_mutex_unlock(&station_mu);
out:
    sem_post(&ports);
    return rc;
}

static void *
phone(void *arg)
{
    return (void *)(intptr_t)charge(arg != NULL);
}

int
main(int argc, char **argv)
{
    rb_start(argc, argv, 0, "Five phones share a four-port charger.");
    pthread_t t[PHONES];
    RB_CHECK(sem_init(&ports, 0, PORTS) ? errno : 0);

    rb_spawn(&t[0], phone, "faulty cable");
    rb_join(t[0]);
    for (int i = 0; i < PHONES; i++)
        rb_spawn(&t[i], phone, NULL);
    /* Closing time comes once every phone is plugged in, or after WAIT_MS
     * (a station that counts right never lets the last one in). */
    struct timespec until = rb_deadline(WAIT_MS);
    int err = 0;
    pthread_mutex_lock(&station_mu);
    while (plugged < PHONES && err == 0)
        err = pthread_cond_timedwait(&plugged_in, &station_mu, &until);
    closing = true;
    pthread_cond_broadcast(&closing_time);
    pthread_mutex_unlock(&station_mu);
    for (int i = 0; i < PHONES; i++)
        rb_join(t[i]);
    if (most_plugged > PORTS)
        return rb_symptom("%d phones were plugged into %d ports at once: the faulty "
                          "cable's port was given back twice", most_plugged, PORTS);
    return rb_ok("at most %d phones were plugged into %d ports at once", most_plugged,
                 PORTS);
}
