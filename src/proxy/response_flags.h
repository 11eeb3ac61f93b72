/*
 * Response flags in the access log: a short code for why a request or connection did not get
 * an ordinary answer from an upstream, with Envoy's names where Envoy has one, so that a line
 * can be filtered without parsing its reason:
 *   NR   no route (unknown host, no matching route, no SNI or no tls route)
 *   UH   no healthy upstream (every endpoint ejected, none resolved, none routable)
 *   UF   upstream connection failure (refused, failed, timed out, TLS handshake or verify)
 *   UT   upstream timeout (no response in time)
 *   UC   upstream connection termination (reset or closed before or during the response)
 *   UPE  upstream protocol error (an answer that cannot be passed on)
 *   UO   upstream overflow: the gateway itself ran out of descriptors or memory
 *   URX  the request was retried and the last try failed too (with one of the above)
 *   DPE  downstream protocol error (a malformed request or ClientHello)
 *   DT   downstream timeout (a request head, body or ClientHello not received in time)
 *   DC   downstream connection termination (the client left first)
 *   SI   idle timeout (a tunnel or a request with nothing moving)
 * "-" when none applies.
 */
#ifndef CW_PROXY_RESPONSE_FLAGS_H
#define CW_PROXY_RESPONSE_FLAGS_H

#include <stddef.h>
#include <stdint.h>

/* The flags for a request or connection that ended with <reason> (NULL: none) after
 * <retries> retries, into <out> ("UF,URX"). */
void cw_response_flags(const char *reason, uint32_t retries, char *out, size_t size);

#endif
