/*
 * Moving bytes from one socket to another through a kernel pipe with splice(2) (the event
 * layer). The bytes never enter user space: splice from a TCP socket takes references to the
 * received pages, and splice into a socket sends those pages on. A TCP tunnel uses this for a
 * direction that moves bulk data (BENCHMARKS.md: HAProxy does the same).
 */
#ifndef CW_EVENT_SPLICE_PIPE_H
#define CW_EVENT_SPLICE_PIPE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct cw_splice_pipe {
    int rd, wr;
    size_t queued; /* bytes in the pipe, not yet sent on */
    size_t size;   /* what the pipe holds at most */
};

/* A non-blocking pipe of about <size> bytes (the system default when it refuses that size);
 * false when no pipe can be made (out of descriptors): copying through a buffer remains. */
bool cw_splice_pipe_open(struct cw_splice_pipe *p, size_t size);
void cw_splice_pipe_close(struct cw_splice_pipe *p);

/* Moves what <from_fd> has into the pipe: the bytes moved, 0 at EOF, CW_EAGAIN when the socket
 * has nothing (or the pipe is full), or a negative error (event_types.h). */
ssize_t cw_splice_pipe_fill(struct cw_splice_pipe *p, int from_fd);

/* Sends the pipe's bytes to <to_fd>: the bytes sent, CW_EAGAIN when the socket takes nothing
 * now, or a negative error (event_types.h). */
ssize_t cw_splice_pipe_drain(struct cw_splice_pipe *p, int to_fd);

#endif
