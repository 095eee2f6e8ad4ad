/*
 * Who may speak FastCGI to the responder (src/http/peer.c): the loopback
 * test, the admission rules for unix and TCP peers, --fcgi-allow,
 * --fcgi-allow-user and FCGI_WEB_SERVER_ADDRS parsing, and identifying
 * real peers: SO_PEERCRED on a unix socket pair and the kernel's socket
 * table for a loopback TCP connection.
 */
#include "config.h"

#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "http/peer.h"
#include "tap.h"

static struct http_peer
peer(enum http_peer_kind kind, bool loopback, bool listed, bool has_uid,
    uid_t uid)
{
	struct http_peer p;

	memset(&p, 0, sizeof(p));
	p.kind = kind;
	p.loopback = loopback;
	p.listed = listed;
	p.has_uid = has_uid;
	p.uid = uid;
	return p;
}

static enum sc_err
parse(struct config *cfg, char *a1, char *a2, char *a3, char *a4)
{
	struct sc_error err = { SC_OK, "" };
	char *argv[] = { "serve", a1, a2, a3, a4, NULL };
	int argc = 1;

	while (argc < 5 && argv[argc] != NULL)
		argc++;
	return config_parse_serve(cfg, argc, argv, &err);
}

static void
test_loopback(void)
{
	ok(http_addr_is_loopback("127.0.0.1"), "127.0.0.1 is loopback");
	ok(http_addr_is_loopback("::1"), "::1 is loopback");
	ok(http_addr_is_loopback("::ffff:127.0.0.1"), "::ffff:127.0.0.1 is loopback");
	ok(!http_addr_is_loopback("127.0.0.2"), "127.0.0.2 is not");
	ok(!http_addr_is_loopback("192.0.2.1"), "192.0.2.1 is not");
	ok(!http_addr_is_loopback("localhost"), "a name is not");
	ok(!http_addr_is_loopback(""), "nothing is not");
}

static void
test_rules(void)
{
	struct config open_cfg, cfg;
	struct http_peer p;
	uid_t me = geteuid(), other = me == 4242 ? 4343 : 4242;

	unsetenv("FCGI_WEB_SERVER_ADDRS");
	is_int(parse(&open_cfg, NULL, NULL, NULL, NULL), SC_OK, "no allow-lists");
	is_int(parse(&cfg, "--fcgi-allow", "192.0.2.1,2001:db8::1",
	    "--fcgi-allow-user", "4242,4343"), SC_OK,
	    "--fcgi-allow A,B --fcgi-allow-user U,V parse");
	is_int(cfg.nfcgi_allow, 2, "... two addresses");
	is_int(cfg.nfcgi_allow_uids, 2, "... two users");

	p = peer(HTTP_PEER_UNIX, false, false, true, 31337);
	ok(http_peer_admitted(&p, &open_cfg),
	    "unix socket, no --fcgi-allow-user: any uid (the mode decides)");
	ok(!http_peer_admitted(&p, &cfg), "unix socket, uid not listed: refused");
	p.uid = other;
	ok(http_peer_admitted(&p, &cfg), "unix socket, uid listed: admitted");
	p.uid = 0;
	ok(http_peer_admitted(&p, &cfg), "unix socket, root: admitted");
	p.uid = me;
	ok(http_peer_admitted(&p, &cfg), "unix socket, our own uid: admitted");

	p = peer(HTTP_PEER_TCP, true, false, true, 31337);
	ok(!http_peer_admitted(&p, &open_cfg),
	    "loopback TCP from another user: refused");
	p.uid = other;
	ok(!http_peer_admitted(&p, &open_cfg), "... also a user listed nowhere");
	ok(http_peer_admitted(&p, &cfg), "... admitted once --fcgi-allow-user lists it");
	p.uid = 0;
	ok(http_peer_admitted(&p, &open_cfg), "loopback TCP from root: admitted");
	p.has_uid = false;
	ok(!http_peer_admitted(&p, &open_cfg), "loopback TCP, uid unknown: refused");

	p = peer(HTTP_PEER_TCP, false, true, false, 0);
	ok(http_peer_admitted(&p, &cfg), "TCP from a --fcgi-allow address: admitted");
	p.listed = false;
	ok(!http_peer_admitted(&p, &cfg), "TCP from another address: refused");
	p = peer(HTTP_PEER_NONE, false, false, false, 0);
	ok(!http_peer_admitted(&p, &open_cfg), "an unidentified peer: refused");

	p = peer(HTTP_PEER_UNIX, false, false, true, 0);
	ok(http_peer_privileged(&p), "root is privileged");
	p.uid = me;
	ok(http_peer_privileged(&p), "our own uid is privileged");
	p.uid = 31337;
	ok(me == 31337 || !http_peer_privileged(&p), "another uid is not");
	p.uid = 0;
	p.has_uid = false;
	ok(!http_peer_privileged(&p), "an unknown uid is not");
	config_free(&open_cfg);
	config_free(&cfg);
}

static void
test_parse_errors(void)
{
	struct config cfg;

	unsetenv("FCGI_WEB_SERVER_ADDRS");
	ok(parse(&cfg, "--fcgi-allow", "example.com", NULL, NULL) == SC_INVALID,
	    "--fcgi-allow takes addresses, not names");
	config_free(&cfg);
	ok(parse(&cfg, "--fcgi-allow-user", "no-such-user-here", NULL, NULL) ==
	    SC_INVALID, "--fcgi-allow-user refuses an unknown user");
	config_free(&cfg);
	ok(parse(&cfg, "--read-timeout", "0", NULL, NULL) == SC_INVALID,
	    "--read-timeout 0 is refused");
	config_free(&cfg);
	is_int(parse(&cfg, NULL, NULL, NULL, NULL), SC_OK, "defaults");
	is_int(cfg.read_timeout, CONFIG_DEFAULT_READ_TIMEOUT,
	    "... read timeout %d s", CONFIG_DEFAULT_READ_TIMEOUT);
	config_free(&cfg);
	setenv("FCGI_WEB_SERVER_ADDRS", "192.0.2.1,192.0.2.2", 1);
	is_int(parse(&cfg, "--fcgi-allow", "192.0.2.3", NULL, NULL), SC_OK,
	    "FCGI_WEB_SERVER_ADDRS is read");
	is_int(cfg.nfcgi_allow, 3, "... and adds to --fcgi-allow");
	config_free(&cfg);
	setenv("FCGI_WEB_SERVER_ADDRS", "192.0.2.1,nonsense", 1);
	ok(parse(&cfg, NULL, NULL, NULL, NULL) == SC_INVALID,
	    "a malformed FCGI_WEB_SERVER_ADDRS is refused");
	config_free(&cfg);
	unsetenv("FCGI_WEB_SERVER_ADDRS");
}

static void
test_identify(void)
{
	struct sc_error err = { SC_OK, "" };
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	struct http_peer p;
	struct config cfg;
	int sv[2], l = -1, c = -1, a = -1;

	parse(&cfg, NULL, NULL, NULL, NULL);
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0) {
		is_int(http_peer_identify(sv[0], &cfg, &p, &err), SC_OK,
		    "a unix socket peer is identified");
		is_int(p.kind, HTTP_PEER_UNIX, "... as a unix socket");
		ok(p.has_uid && p.uid == geteuid(), "... with our uid (SO_PEERCRED)");
		close(sv[0]);
		close(sv[1]);
	} else
		ok(0, "socketpair");

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((l = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
	    bind(l, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(l, 1) == -1 ||
	    getsockname(l, (struct sockaddr *)&sin, &len) == -1 ||
	    (c = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
	    connect(c, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    (a = accept(l, NULL, NULL)) == -1)
		ok(0, "a loopback TCP connection");
	else {
		is_int(http_peer_identify(a, &cfg, &p, &err), SC_OK,
		    "a loopback TCP peer is identified");
		is_int(p.kind, HTTP_PEER_TCP, "... as TCP");
		ok(p.loopback, "... from loopback");
		ok(p.has_uid && p.uid == geteuid(),
		    "... with the uid that opened it (socket table)");
		ok(strstr(p.name, "127.0.0.1 port ") == p.name,
		    "... named \"%s\"", p.name);
	}
	if (a != -1)
		close(a);
	if (c != -1)
		close(c);
	if (l != -1)
		close(l);
	config_free(&cfg);
}

int
main(void)
{
	test_loopback();
	test_rules();
	test_parse_errors();
	test_identify();
	return done_testing();
}
