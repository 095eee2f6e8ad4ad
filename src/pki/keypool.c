/*
 * Worker key generation, off the request threads and below their
 * priority.  RSA key generation is most of an enrollment's cost (tens of
 * milliseconds for RSA-2048, all CPU); done on the request worker it
 * competes on equal terms with every read on the machine's cores.
 *
 * So RSA keys come from generator threads running at nice
 * GENERATOR_NICE: an enrollment asks for a key and sleeps until one is
 * ready, while reads on the other workers keep their priority.  With
 * --key-pool N the generators also keep up to N keys ready in advance,
 * made with CPU the requests leave over; an enrollment then costs little
 * more than signing and the durable write.  ECDSA and Ed25519 keys are
 * taken from the ready ones too, but when none is ready the enrollment
 * makes its own: it is quicker than the hand-off.
 *
 * Keys stay in this process's memory only.  Each is handed out once and
 * destroyed by its user; those left at stop are destroyed here (GnuTLS
 * zeroes key parameters when it frees them).
 */
#include "config.h"

#include <sys/resource.h>
#include <sys/syscall.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "pki/internal.h"
#include "thread.h"

#define GENERATOR_NICE		10
#define GENERATORS_MAX		8

static struct {
	pthread_mutex_t		 lock;
	pthread_cond_t		 work;	/* to generators: a key is wanted */
	pthread_cond_t		 ready;	/* to takers: a key was made */
	pthread_t		 thread[GENERATORS_MAX];
	size_t			 nthreads;
	bool			 running, stop;
	enum pki_key_type	 type;
	gnutls_x509_privkey_t	*keys;
	size_t			 count, cap;	/* ready keys; --key-pool */
	size_t			 size;		/* slots in keys[] */
	size_t			 waiting;	/* takers asleep on `ready` */
	size_t			 busy;		/* generations under way */
} pool = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.work = PTHREAD_COND_INITIALIZER,
	.ready = PTHREAD_COND_INITIALIZER,
};

/* Keys wanted but neither ready nor being made. */
static bool
wanted(void)
{
	return pool.count + pool.busy < pool.cap + pool.waiting;
}

static void *
generator_main(void *arg)
{
	struct sc_error err = { SC_OK, "" };
	gnutls_x509_privkey_t key;

	(void)arg;
	/* Per-thread on Linux: only this generator is lowered. */
	(void)setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid),
	    GENERATOR_NICE);
	pthread_mutex_lock(&pool.lock);
	for (;;) {
		while (!pool.stop && !wanted())
			pthread_cond_wait(&pool.work, &pool.lock);
		if (pool.stop)
			break;
		pool.busy++;
		pthread_mutex_unlock(&pool.lock);
		sc_error_clear(&err);
		if (pki_generate_key(pool.type, &key, &err) != SC_OK) {
			log_error("key generator: %s", err.msg);
			key = NULL;
		}
		pthread_mutex_lock(&pool.lock);
		pool.busy--;
		if (key == NULL)
			continue;
		/*
		 * A taker may have left (served by another generator) since
		 * this key was wanted: keep it if there is a slot.
		 */
		if (pool.count < pool.size) {
			pool.keys[pool.count++] = key;
			pthread_cond_signal(&pool.ready);
		} else
			gnutls_x509_privkey_deinit(key);
	}
	pthread_mutex_unlock(&pool.lock);
	return NULL;
}

size_t
pki_keypool_threads(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	if (n < 1)
		return 1;
	return n > GENERATORS_MAX ? GENERATORS_MAX : (size_t)n;
}

enum sc_err
pki_keypool_start(enum pki_key_type type, size_t n, size_t max_takers,
    struct sc_error *err)
{
	enum sc_err rc = SC_OK;
	size_t i;
	int r = 0;

	pthread_mutex_lock(&pool.lock);
	if (pool.running) {
		rc = sc_error_set(err, SC_INTERNAL, "key pool already running");
		goto out;
	}
	/*
	 * Ready keys, one for each request that may be waiting, and one for
	 * each generator that may finish a key nobody waits for any more.
	 */
	pool.size = n + max_takers + GENERATORS_MAX;
	if ((pool.keys = calloc(pool.size, sizeof(*pool.keys))) == NULL) {
		rc = sc_error_set(err, SC_INTERNAL, "out of memory");
		goto out;
	}
	pool.type = type;
	pool.cap = n;
	pool.count = pool.waiting = pool.busy = 0;
	pool.stop = false;
	pool.nthreads = 0;
	for (i = pki_keypool_threads(); i > 0; i--) {
		if ((r = thread_start(&pool.thread[pool.nthreads],
		    generator_main, NULL)) != 0)
			break;
		pool.nthreads++;
	}
	if (r != 0 && pool.nthreads > 0)
		log_warn("started %zu key generator threads of %zu: %s",
		    pool.nthreads, pki_keypool_threads(), strerror(r));
	if (pool.nthreads == 0) {
		free(pool.keys);
		pool.keys = NULL;
		rc = sc_error_set(err, SC_INTERNAL, "starting the key "
		    "generator threads: %s", strerror(r));
		goto out;
	}
	pool.running = true;
	if (n > 0)
		pthread_cond_broadcast(&pool.work);
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
	pthread_cond_broadcast(&pool.work);
	pthread_cond_broadcast(&pool.ready);
	pthread_mutex_unlock(&pool.lock);
	/* Waits for keys being generated: at most one per generator. */
	for (i = 0; i < pool.nthreads; i++)
		pthread_join(pool.thread[i], NULL);
	pthread_mutex_lock(&pool.lock);
	for (i = 0; i < pool.count; i++)
		gnutls_x509_privkey_deinit(pool.keys[i]);
	free(pool.keys);
	pool.keys = NULL;
	pool.count = pool.cap = pool.size = 0;
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
	if (!pool.running || pool.type != type)
		goto out;
	/*
	 * A quick key (ECDSA: 0.06 ms) costs less to make here than the
	 * wake-ups of a hand-off to a generator and back, and a generator
	 * at nice 10 on busy cores makes the request wait for its turn.
	 */
	if (pool.count == 0 && !pki_key_type_slow(type))
		goto out;
	/* Only a taker that finds nothing ready asks for a key of its own. */
	if (pool.count == 0) {
		pool.waiting++;
		pthread_cond_signal(&pool.work);
		while (pool.count == 0 && !pool.stop)
			pthread_cond_wait(&pool.ready, &pool.lock);
		pool.waiting--;
	}
	if (pool.count > 0) {
		*out = pool.keys[--pool.count];
		pool.keys[pool.count] = NULL;
		taken = true;
		/* Refill what was taken from the ready stock. */
		pthread_cond_signal(&pool.work);
	}
out:
	pthread_mutex_unlock(&pool.lock);
	return taken;
}
