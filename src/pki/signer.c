/*
 * The CA signer, client side: start `swarmctl signer` (signerd.c) as a
 * child process over socketpairs, restart it when it dies, and ask it to
 * issue certificates and sign CRLs (signwire.h).  While a signer runs,
 * pki_ca_load gives CAs that hold the certificate only and sign through
 * it, so no caller changes and no CA key is ever read in this process.
 *
 * Concurrency: one channel (socketpair) per signer thread, handed to one
 * request at a time from a pool, so requests need no ids and a slow RSA
 * signature never queues a fast one behind it while a channel is free.
 */
#include "config.h"

#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "log.h"
#include "pki/internal.h"
#include "pki/pki.h"
#include "pki/signwire.h"

#define CHANNELS_MIN	2
#define CHANNELS_MAX	8
/* Between restarts: a signer that dies at once must not spin the CPU. */
#define RESTART_DELAY_NS	(200L * 1000 * 1000)

struct channel {
	int	 fd;
	bool	 busy;
};

struct pki_signer {
	char		*ca_dir;
	/*
	 * Our own binary, resolved once: execv("/proc/self/exe") would run
	 * the tool under valgrind, whose /proc/self/exe is its own.
	 */
	char		 exe[PATH_MAX];
	pthread_mutex_t	 lock;
	pthread_cond_t	 cond;
	struct channel	 ch[CHANNELS_MAX];
	size_t		 nch;
	pid_t		 pid;
	bool		 swapping;	/* the supervisor replaces the fds */
	bool		 stopping;
	unsigned long	 restarts;
	pthread_t	 supervisor;
	bool		 supervising;
};

/* One per process: pki_ca_load attaches it to every CA it loads. */
static struct pki_signer *current;

struct pki_signer *
pki_signer_current(void)
{
	return current;
}

int
pki_signer_pid(void)
{
	int pid;

	if (current == NULL)
		return -1;
	pthread_mutex_lock(&current->lock);
	pid = (int)current->pid;
	pthread_mutex_unlock(&current->lock);
	return pid;
}

static size_t
channel_count(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	if (n < CHANNELS_MIN)
		return CHANNELS_MIN;
	return n > CHANNELS_MAX ? CHANNELS_MAX : (size_t)n;
}

/*
 * Fork and exec `swarmctl signer`; fds[] gets our ends.  Everything the
 * child runs before execve is async-signal-safe: the supervisor thread
 * forks while request threads run.  The child gets a fresh image, so
 * nothing of this process's memory (requests, tokens) is in the signer.
 */
static enum sc_err
spawn(const char *exe, const char *ca_dir, size_t n, int fds[CHANNELS_MAX],
    pid_t *pid, struct sc_error *err)
{
	int pair[CHANNELS_MAX][2], devnull = -1;
	char list[CHANNELS_MAX * 12], *argv[7];
	size_t i, off = 0;
	enum sc_err rc = SC_OK;
	pid_t child;

	for (i = 0; i < n; i++)
		pair[i][0] = pair[i][1] = -1;
	for (i = 0; i < n; i++) {
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
		    pair[i]) == -1) {
			rc = sc_error_set(err, SC_SIGNER_UNAVAILABLE,
			    "socketpair: %s", strerror(errno));
			goto out;
		}
		off += (size_t)snprintf(list + off, sizeof(list) - off, "%s%d",
		    i ? "," : "", pair[i][1]);
	}
	if ((devnull = open("/dev/null", O_RDWR | O_CLOEXEC)) == -1) {
		rc = sc_error_set(err, SC_SIGNER_UNAVAILABLE, "/dev/null: %s",
		    strerror(errno));
		goto out;
	}
	argv[0] = (char *)"swarmctl";
	argv[1] = (char *)"signer";
	argv[2] = (char *)"--ca-dir";
	argv[3] = (char *)ca_dir;
	argv[4] = (char *)"--fds";
	argv[5] = list;
	argv[6] = NULL;
	if ((child = fork()) == -1) {
		rc = sc_error_set(err, SC_SIGNER_UNAVAILABLE, "fork: %s",
		    strerror(errno));
		goto out;
	}
	if (child == 0) {
		/* Dies with us (kill -9 of serve included). */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		/* Standard input may be serve's FastCGI listening socket. */
		dup2(devnull, STDIN_FILENO);
		dup2(devnull, STDOUT_FILENO);
		for (i = 0; i < n; i++)
			fcntl(pair[i][1], F_SETFD, 0);
		execv(exe, argv);
		_exit(127);
	}
	*pid = child;
	for (i = 0; i < n; i++) {
		fds[i] = pair[i][0];
		pair[i][0] = -1;
	}
out:
	for (i = 0; i < n; i++) {
		if (pair[i][0] != -1)
			close(pair[i][0]);
		if (pair[i][1] != -1)
			close(pair[i][1]);
	}
	if (devnull != -1)
		close(devnull);
	return rc;
}

static void
describe_exit(int status, char *buf, size_t size)
{
	if (WIFSIGNALED(status))
		snprintf(buf, size, "killed by signal %d", WTERMSIG(status));
	else
		snprintf(buf, size, "exited with status %d",
		    WEXITSTATUS(status));
}

/*
 * Wait for the signer to die and start another.  Requests in flight on
 * the dead one fail (SC_SIGNER_UNAVAILABLE, 503); the channels are
 * swapped once none is in use, and requests that come meanwhile wait.
 */
static void *
supervise(void *arg)
{
	struct pki_signer *s = arg;
	struct timespec delay = { 0, RESTART_DELAY_NS };
	struct sc_error err = { SC_OK, "" };
	int fds[CHANNELS_MAX] = { -1, -1, -1, -1, -1, -1, -1, -1 };
	int status;
	char how[64];
	pid_t pid, dead;
	size_t i;

	for (;;) {
		pthread_mutex_lock(&s->lock);
		pid = s->pid;
		pthread_mutex_unlock(&s->lock);
		while ((dead = waitpid(pid, &status, 0)) == -1 &&
		    errno == EINTR)
			;
		pthread_mutex_lock(&s->lock);
		if (s->stopping) {
			pthread_mutex_unlock(&s->lock);
			return NULL;
		}
		s->swapping = true;
		pthread_mutex_unlock(&s->lock);
		describe_exit(dead == -1 ? 0 : status, how, sizeof(how));
		log_error("CA signer (pid %d) %s: restarting it", (int)pid,
		    how);
		nanosleep(&delay, NULL);
		while (spawn(s->exe, s->ca_dir, s->nch, fds, &pid,
		    &err) != SC_OK) {
			log_error("restarting the CA signer: %s", err.msg);
			sc_error_clear(&err);
			nanosleep(&delay, NULL);
		}
		pthread_mutex_lock(&s->lock);
		for (;;) {
			for (i = 0; i < s->nch && !s->ch[i].busy; i++)
				;
			if (i == s->nch)
				break;
			pthread_cond_wait(&s->cond, &s->lock);
		}
		for (i = 0; i < s->nch; i++) {
			close(s->ch[i].fd);
			s->ch[i].fd = fds[i];
		}
		s->pid = pid;
		s->restarts++;
		s->swapping = false;
		pthread_cond_broadcast(&s->cond);
		pthread_mutex_unlock(&s->lock);
		log_info("CA signer restarted (pid %d)", (int)pid);
	}
}

enum sc_err
pki_signer_start(const char *ca_dir, struct sc_error *err)
{
	struct pki_signer *s;
	int fds[CHANNELS_MAX] = { -1, -1, -1, -1, -1, -1, -1, -1 };
	sigset_t all, was;
	enum sc_err rc;
	ssize_t len;
	size_t i;
	int r;

	if (current != NULL)
		return sc_error_set(err, SC_INTERNAL, "CA signer already "
		    "started");
	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (s->ca_dir = strdup(ca_dir)) == NULL) {
		free(s);
		return sc_error_set(err, SC_INTERNAL, "out of memory");
	}
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	s->nch = channel_count();
	if ((len = readlink("/proc/self/exe", s->exe, sizeof(s->exe) - 1)) ==
	    -1) {
		rc = sc_error_set(err, SC_INTERNAL, "/proc/self/exe: %s",
		    strerror(errno));
		goto fail;
	}
	s->exe[len] = '\0';
	if ((rc = spawn(s->exe, ca_dir, s->nch, fds, &s->pid, err)) != SC_OK)
		goto fail;
	for (i = 0; i < s->nch; i++)
		s->ch[i].fd = fds[i];
	/*
	 * The supervisor takes no signal: serve waits for SIGTERM, SIGHUP
	 * and the rest in its own thread, whatever order things start in.
	 */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &was);
	r = pthread_create(&s->supervisor, NULL, supervise, s);
	pthread_sigmask(SIG_SETMASK, &was, NULL);
	if (r != 0) {
		rc = sc_error_set(err, SC_INTERNAL, "CA signer supervisor "
		    "thread: %s", strerror(r));
		for (i = 0; i < s->nch; i++)
			close(s->ch[i].fd);
		kill(s->pid, SIGKILL);
		waitpid(s->pid, NULL, 0);
		goto fail;
	}
	s->supervising = true;
	current = s;
	return SC_OK;
fail:
	free(s->ca_dir);
	free(s);
	return rc;
}

void
pki_signer_stop(void)
{
	struct pki_signer *s = current;
	size_t i;

	if (s == NULL)
		return;
	pthread_mutex_lock(&s->lock);
	s->stopping = true;
	/* EOF on every channel: the signer exits, the supervisor returns. */
	for (i = 0; i < s->nch; i++)
		shutdown(s->ch[i].fd, SHUT_RDWR);
	pthread_mutex_unlock(&s->lock);
	if (s->supervising)
		pthread_join(s->supervisor, NULL);
	for (i = 0; i < s->nch; i++)
		close(s->ch[i].fd);
	current = NULL;
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->lock);
	free(s->ca_dir);
	free(s);
}

static struct channel *
channel_take(struct pki_signer *s)
{
	size_t i;

	pthread_mutex_lock(&s->lock);
	for (;;) {
		for (i = 0; !s->swapping && i < s->nch; i++)
			if (!s->ch[i].busy) {
				s->ch[i].busy = true;
				pthread_mutex_unlock(&s->lock);
				return &s->ch[i];
			}
		pthread_cond_wait(&s->cond, &s->lock);
	}
}

static void
channel_give(struct pki_signer *s, struct channel *ch)
{
	pthread_mutex_lock(&s->lock);
	ch->busy = false;
	/*
	 * One channel came free: one waiting request can take it, and
	 * waking every one of them (most go straight back to sleep) costs
	 * each a context switch.  The supervisor, while it swaps the
	 * channels, waits for all of them to come free: then everyone.
	 */
	if (s->swapping)
		pthread_cond_broadcast(&s->cond);
	else
		pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

/* One request, one answer: the answer's DER (malloc'd) or its error. */
static enum sc_err
ask(struct pki_signer *s, const unsigned char *req, size_t len,
    unsigned char **der, size_t *der_len, struct sc_error *err)
{
	struct signwire_answer ans;
	struct channel *ch;
	unsigned char *buf = NULL;
	size_t buf_len = 0;
	enum sc_err rc;

	*der = NULL;
	*der_len = 0;
	ch = channel_take(s);
	if ((rc = signwire_send(ch->fd, req, len, err)) == SC_OK)
		rc = signwire_recv(ch->fd, &buf, &buf_len, err);
	channel_give(s, ch);
	if (rc != SC_OK)
		return rc;
	if ((rc = signwire_answer_decode(buf, buf_len, &ans, err)) != SC_OK)
		goto out;
	if (ans.status != SC_OK) {
		rc = sc_error_set(err, ans.status, "CA signer: %s", ans.msg);
		goto out;
	}
	*der = ans.der;
	*der_len = ans.der_len;
	ans.der = NULL;
out:
	signwire_answer_free(&ans);
	free(buf);
	return rc;
}

enum sc_err
pki_signer_issue(struct pki_signer *s, enum signwire_profile profile,
    const char *cn, long days, const char *const *sans, size_t nsans,
    const unsigned char *spki, size_t spki_len, unsigned char **der,
    size_t *der_len, struct sc_error *err)
{
	unsigned char *req = NULL;
	size_t len = 0;
	enum sc_err rc;

	*der = NULL;
	*der_len = 0;
	if (days < 1 || days > UINT32_MAX)
		return sc_error_set(err, SC_INVALID, "validity of %ld days",
		    days);
	if ((rc = signwire_issue_encode(profile, (uint32_t)days, cn, sans,
	    nsans, spki, spki_len, &req, &len, err)) != SC_OK)
		return rc;
	rc = ask(s, req, len, der, der_len, err);
	free(req);
	return rc;
}

enum sc_err
pki_signer_crl(struct pki_signer *s, enum pki_ca_role role,
    const struct pki_crl_entries *l, uint64_t number, long next_update_secs,
    unsigned char **der, size_t *der_len, struct sc_error *err)
{
	unsigned char *req = NULL;
	size_t len = 0;
	enum sc_err rc;

	*der = NULL;
	*der_len = 0;
	if (next_update_secs < 1 || next_update_secs > UINT32_MAX)
		return sc_error_set(err, SC_INVALID, "CRL next update in %ld "
		    "seconds", next_update_secs);
	if ((rc = signwire_crl_encode(role, number,
	    (uint32_t)next_update_secs, l, &req, &len, err)) != SC_OK)
		return rc;
	rc = ask(s, req, len, der, der_len, err);
	free(req);
	return rc;
}
