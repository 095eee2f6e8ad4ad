/*
 * `swarmctl init`: the one step that creates the CAs (ca_identity.h).
 */
#ifndef SC_INIT_H
#define SC_INIT_H

extern const char init_usage[];

int	cmd_init(int, char *[]);

#endif
