/*
 * `swarmctl agent enroll|renew|heartbeat`: the worker's side of the
 * lifecycle (README, "Worker agent").  Exit statuses follow sysexits(3)
 * so that a timer can act on them: 0 done (or not due yet), 64 usage,
 * 65 bad local state or bad input, 75 transient (network, 5xx, 429: try
 * again later), 76 an answer the agent does not understand, 77 refused
 * (401/403: the certificate or token is no longer good; a new token is
 * needed).
 */
#ifndef SC_AGENT_AGENT_H
#define SC_AGENT_AGENT_H

extern const char agent_usage[];
int	cmd_agent(int argc, char *argv[]);

#endif
