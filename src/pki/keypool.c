/*
 * A pool of worker keys generated ahead of time.  RSA key generation is
 * most of an enrollment's cost (tens of milliseconds for RSA-2048); a
 * background thread fills the pool while the service is idle, so an
 * enrollment then costs little more than signing and the durable write.
 *
 * The thread runs under SCHED_IDLE (falling back to nice 19): it only
 * gets CPU nobody else wants, so it never competes with requests.  Keys
 * stay in this process's memory only and are destroyed (GnuTLS zeroes
 * key parameters when it frees them) when taken-and-used or at stop.
 * Each key is handed out once.
 */
#include "config.h"

#include <sys/resource.h>
#include <sys/syscall.h>

#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "pki/internal.h"

static struct {
	pthread_mutex_t		 lock;
	pthread_cond_t		 wake;
	pthread_t		 thread;
	bool			 running, stop;
	enum pki_key_type	 type;
	gnutls_x509_privkey_t	*keys;
	size_t			 count, cap;
} pool = { .lock = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER };

static void
lower_priority(void)
{
	struct sched_param sp;

	memset(&sp, 0, sizeof(sp));
	if (pthread_setschedparam(pthread_self(), SCHED_IDLE, &sp) != 0)
		(void)setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 19);
}

static void *
pool_main(void *arg)
{
	struct sc_error err = { SC_OK, "" };
	gnutls_x509_privkey_t key;

	(void)arg;
	lower_priority();
	pthread_mutex_lock(&pool.lock);
	for (;;) {
		while (!pool.stop && pool.count >= pool.cap)
			pthread_cond_wait(&pool.wake, &pool.lock);
		if (pool.stop)
			break;
		pthread_mutex_unlock(&pool.lock);
		sc_error_clear(&err);
		if (pki_generate_key(pool.type, &key, &err) != SC_OK) {
			log_error("key pool: %s", err.msg);
			pthread_mutex_lock(&pool.lock);
			break;
		}
		pthread_mutex_lock(&pool.lock);
		if (pool.count < pool.cap)
			pool.keys[pool.count++] = key;
		else
			gnutls_x509_privkey_deinit(key);
	}
	pthread_mutex_unlock(&pool.lock);
	return NULL;
}

enum sc_err
pki_keypool_start(enum pki_key_type type, size_t n, struct sc_error *err)
{
	enum sc_err rc = SC_OK;

	pthread_mutex_lock(&pool.lock);
	if (pool.running || n == 0) {
		rc = sc_error_set(err, SC_INTERNAL, pool.running ?
		    "key pool already running" : "key pool of size 0");
		goto out;
	}
	if ((pool.keys = calloc(n, sizeof(*pool.keys))) == NULL) {
		rc = sc_error_set(err, SC_INTERNAL, "out of memory");
		goto out;
	}
	pool.type = type;
	pool.cap = n;
	pool.count = 0;
	pool.stop = false;
	if (pthread_create(&pool.thread, NULL, pool_main, NULL) != 0) {
		free(pool.keys);
		pool.keys = NULL;
		rc = sc_error_set(err, SC_INTERNAL, "starting the key pool "
		    "thread failed");
		goto out;
	}
	pool.running = true;
out:
	pthread_mutex_unlock(&pool.lock);
	return rc;
}

void
pki_keypool_stop(void)
{
	size_t i;

	pthread_mutex_lock(&pool.lock);
	if (!pool.running) {
		pthread_mutex_unlock(&pool.lock);
		return;
	}
	pool.stop = true;
	pthread_cond_broadcast(&pool.wake);
	pthread_mutex_unlock(&pool.lock);
	/* Waits for a key being generated: at most one generation. */
	pthread_join(pool.thread, NULL);
	pthread_mutex_lock(&pool.lock);
	for (i = 0; i < pool.count; i++)
		gnutls_x509_privkey_deinit(pool.keys[i]);
	free(pool.keys);
	pool.keys = NULL;
	pool.count = pool.cap = 0;
	pool.running = false;
	pthread_mutex_unlock(&pool.lock);
}

size_t
pki_keypool_ready(void)
{
	size_t n;

	pthread_mutex_lock(&pool.lock);
	n = pool.count;
	pthread_mutex_unlock(&pool.lock);
	return n;
}

bool
pki_keypool_take(enum pki_key_type type, gnutls_x509_privkey_t *out)
{
	bool taken = false;

	pthread_mutex_lock(&pool.lock);
	if (pool.running && pool.type == type && pool.count > 0) {
		*out = pool.keys[--pool.count];
		pool.keys[pool.count] = NULL;
		taken = true;
		pthread_cond_signal(&pool.wake);
	}
	pthread_mutex_unlock(&pool.lock);
	return taken;
}
