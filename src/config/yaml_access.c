/*
 * The accessors of yaml.h: aliases and merge keys followed in place, from what cw_yaml_prepare
 * attached to the nodes.
 */
#include <string.h>

#include "config/yaml.h"

struct fy_node *cw_yaml_deref(struct fy_node *node)
{
    if (!node || !fy_node_is_alias(node))
        return node;
    const struct cw_yaml_info *to = fy_node_get_meta(node);
    return to ? to->node : NULL; /* unbound only in a document that failed preparation */
}

/* The merged pairs of <map>, or NULL when it has no merge key (its own pairs are read). */
static const struct cw_yaml_info *merged(struct fy_node *map)
{
    const struct cw_yaml_info *info = fy_node_get_meta(map);
    return info && info->merges ? info : NULL;
}

bool cw_yaml_map_next(struct fy_node *map, struct cw_yaml_iter *it, struct cw_yaml_pair *out)
{
    const struct cw_yaml_info *m = merged(map);
    if (m) {
        if (it->at >= m->n_pairs)
            return false;
        *out = m->pairs[it->at++];
        return true;
    }
    struct fy_node_pair *p = fy_node_mapping_iterate(map, &it->fy);
    if (!p)
        return false;
    out->key = cw_yaml_deref(fy_node_pair_key(p));
    out->value = cw_yaml_deref(fy_node_pair_value(p));
    return true;
}

int cw_yaml_map_count(struct fy_node *map)
{
    const struct cw_yaml_info *m = merged(map);
    return m ? (int)m->n_pairs : fy_node_mapping_item_count(map);
}

struct fy_node *cw_yaml_map_get(struct fy_node *map, const char *key, struct fy_node **key_node)
{
    if (key_node)
        *key_node = NULL;
    if (!map || fy_node_get_type(map) != FYNT_MAPPING)
        return NULL;
    /* A scan: the mappings looked up by name (a manifest's top level, metadata) are small, and
     * libfyaml's lookup parses the key text as a YAML document whenever its quick scan misses,
     * as it does for every absent key. */
    size_t len = strlen(key);
    struct cw_yaml_iter it = {0};
    struct cw_yaml_pair p;
    while (cw_yaml_map_next(map, &it, &p)) {
        if (!p.key || fy_node_get_type(p.key) != FYNT_SCALAR)
            continue;
        size_t n;
        const char *s = fy_node_get_scalar(p.key, &n);
        if (s && n == len && memcmp(s, key, len) == 0) {
            if (key_node)
                *key_node = p.key;
            return p.value;
        }
    }
    return NULL;
}

struct fy_node *cw_yaml_seq_next(struct fy_node *seq, void **iter)
{
    return cw_yaml_deref(fy_node_sequence_iterate(seq, iter));
}
