/*
 * Reload when files change (control thread, libuv): the directories that hold the watched
 * files are watched with inotify, so that an editor's save-by-rename, cert-manager writing a
 * new certificate, and the atomic "..data" symlink swap of a mounted Kubernetes Secret or
 * ConfigMap are all seen. Events are coalesced: <on_change> runs once, <quiet_ms> after the last
 * event of a burst.
 */
#ifndef CW_CLI_FILE_WATCH_H
#define CW_CLI_FILE_WATCH_H

#include <stdint.h>
#include <uv.h>

struct cw_file_watch;

/*
 * Watches <paths> (files, or directories whose *.yaml and *.yml entries count; their
 * subdirectories are not watched). A directory that cannot be
 * watched is said on stderr; the gateway runs on, and SIGHUP still reloads.
 */
struct cw_file_watch *cw_file_watch_start(uv_loop_t *loop, const char *const *paths, unsigned n,
                                          uint64_t quiet_ms, void (*on_change)(void *data),
                                          void *data);

/* Stops watching; the memory goes once libuv has closed the handles. */
void cw_file_watch_stop(struct cw_file_watch *w);

#endif
