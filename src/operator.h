/*
 * The trust commands: operator certificates (issue, list, revoke), the
 * front end's TLS server certificate, and publishing the CRL by hand.
 */
#ifndef SC_OPERATOR_H
#define SC_OPERATOR_H

int	cmd_operator(int, char *[]);
int	cmd_server_cert(int, char *[]);
int	cmd_crl(int, char *[]);

/* What `swarmctl operator|server-cert|crl --help` print. */
extern const char operator_usage[];
extern const char server_cert_usage[];
extern const char crl_usage[];

#endif
