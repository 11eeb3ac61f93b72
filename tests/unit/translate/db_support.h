/*
 * The manifests the priority, distribution and host-choice tests build on: ExternalService
 * data/db (db.internal, port 5432) over ExternalEndpoints labelled app=db, in workspace ops,
 * with the endpoints and resilience policies a test adds, translated for the gateway of
 * spec §12 (us-east-1/us-east-1a) unless a test gives another.
 */
#ifndef CW_DB_SUPPORT_H
#define CW_DB_SUPPORT_H

#include "tr_support.h"

/* ExternalEndpoint data/<name> (label app=db) at <address> in <locality> (a flow mapping). */
#define EP(name, address, locality)                                                                \
    DOC NET "kind: ExternalEndpoint\n"                                                             \
            "metadata: {name: " name ", namespace: data, labels: {app: db}}\n"                     \
            "spec: {address: '" address "', ports: [{number: 5432}], locality: " locality "}\n"

#define DB_SERVICE                                                                                 \
    DOC NET "kind: ExternalService\n"                                                              \
            "metadata: {name: db, namespace: data}\n"                                              \
            "spec: {hosts: [db.internal], ports: [{number: 5432}], selector: {app: db}}\n"

/* An OutlierDetectionPolicy data/od for data/db with <config> (a YAML flow map). */
#define ODP_CONFIG(config)                                                                         \
    DOC RESILIENT "kind: OutlierDetectionPolicy\n"                                                 \
                  "metadata: {name: od, namespace: data}\n"                                        \
                  "spec:\n"                                                                        \
                  "  applyToDestinations: [{kind: EXTERNAL_SERVICE, selector: {name: db}}]\n"      \
                  "  config: " config "\n"

/* The same with every default. */
#define ODP ODP_CONFIG("{}")

/* FailoverPolicy data/fo for data/db with <mappings> (a YAML flow list). */
#define FAILOVER(mappings)                                                                         \
    DOC RESILIENT "kind: FailoverPolicy\n"                                                         \
                  "metadata: {name: fo, namespace: data}\n"                                        \
                  "spec:\n"                                                                        \
                  "  applyToDestinations: [{kind: EXTERNAL_SERVICE, selector: {name: db}}]\n"      \
                  "  config: {localityMappings: " mappings "}\n"

/* Translates ops + data/db with <rest> (endpoints, policies) for <gw> (NULL: §12's). */
static inline void db_run(struct trt *x, const char *rest, const struct cw_gateway_identity *gw)
{
    char yaml[8192];
    snprintf(yaml, sizeof(yaml), "%s%s%s", WS_OPS, DB_SERVICE, rest);
    struct cw_gateway_identity def = trt_gateway();
    trt_run_gw(x, yaml, gw ? gw : &def);
}

static inline const struct cw_cluster *db_cluster(const struct trt *x)
{
    return trt_need_cluster(x, "data/db:5432");
}

#endif
