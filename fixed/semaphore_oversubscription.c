/*
 * semaphore_oversubscription (fixed): a charging station has PORTS ports,
 * counted by a semaphore. The faulty cable's error path no longer gives the
 * port back itself: it goes to the common cleanup, which posts exactly once
 * for the one wait. The count stays at PORTS, the fifth phone finds no
 * free port and goes away, and at most PORTS phones are ever plugged in.
 */
#include "rb.h"

#include <errno.h>
#include <semaphore.h>

#define PORTS 4
#define PHONES (PORTS + 1)

static sem_t ports;
static pthread_mutex_t station_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t plugged_in = PTHREAD_COND_INITIALIZER; /* the station waits */
static pthread_cond_t closing_time = PTHREAD_COND_INITIALIZER; /* the phones wait */
static int plugged, most_plugged, turned_away;
static bool closing; /* the phones stay plugged in until closing time */

static int
charge(bool faulty_cable)
{
    int rc = 0;
    if (sem_trywait(&ports) != 0) { /* no free port: go away */
        RB_CHECK(errno == EAGAIN ? 0 : errno);
        pthread_mutex_lock(&station_mu);
        turned_away++;
        pthread_cond_signal(&plugged_in);
        pthread_mutex_unlock(&station_mu);
        return EAGAIN;
    }
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
    /* Closing time comes once every phone is plugged in or gone: no port is
     * given back before then, so how many get in is up to the count alone. */
    pthread_mutex_lock(&station_mu);
    while (plugged + turned_away < PHONES)
        pthread_cond_wait(&plugged_in, &station_mu);
    closing = true;
    pthread_cond_broadcast(&closing_time);
    pthread_mutex_unlock(&station_mu);
    for (int i = 0; i < PHONES; i++)
        rb_join(t[i]);
    if (most_plugged > PORTS)
        return rb_symptom("%d phones were plugged into %d ports at once: the faulty "
                          "cable's port was given back twice", most_plugged, PORTS);
    return rb_ok("at most %d phones were plugged into %d ports at once (%d went away)",
                 most_plugged, PORTS, turned_away);
}
