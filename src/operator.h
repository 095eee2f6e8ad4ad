/*
 * The trust commands: operator certificates (issue, list, revoke), the
 * front end's TLS server certificate, and publishing the CRL by hand.
 */
#ifndef SC_OPERATOR_H
#define SC_OPERATOR_H

int	cmd_operator(int, char *[]);
int	cmd_server_cert(int, char *[]);
int	cmd_crl(int, char *[]);

#endif
