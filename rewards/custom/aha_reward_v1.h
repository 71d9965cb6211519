/* aha_reward_v1: the C ABI of an aha reward plugin, version 1. Plain C, usable from C and C++.
 *
 * A plugin is a shared library exporting one function,
 *
 *     AHA_REWARD_EXPORT const aha_reward_plugin_v1* aha_reward_v1(void);
 *
 * that returns a pointer to a table that lives as long as the library (a static). aha dlopens the
 * library, looks the symbol up, and refuses (a config error naming the file) a missing symbol, a NULL
 * table, abi_version != AHA_REWARD_ABI_VERSION, struct_size < sizeof(aha_reward_plugin_v1), or a NULL
 * init or score_batch. It then calls, in the process that scores (see rewards/custom/plugin_rule.h: by
 * default a helper process forked from the trainer, so a crash cannot take the trainer down):
 *
 *   init(config_json, &handle, error, error_size)  once per process: config_json is the rule's "config"
 *       option as compact JSON ("{}" when absent). Return 0 on success. On failure return non-zero and
 *       write a NUL-terminated message of at most error_size bytes into error; aha reports it as a config
 *       error naming the plugin.
 *   score_batch(handle, n, inputs, scores)  per batch: write n scores. Return 0 on success; non-zero
 *       means the whole batch failed, and every sample gets the rule's fallback score (counted). A NaN or
 *       infinite score gives that one sample the fallback (counted).
 *   destroy(handle)  once, when the process ends normally; may be NULL.
 *
 * Inputs are UTF-8 as the model wrote it (possibly invalid, cut mid-character), each string given both
 * NUL-terminated and with its size in bytes, excluding the NUL. The pointers are valid only during the
 * call. In the default process isolation, invalid UTF-8 reaches the plugin replaced by U+FFFD (the
 * strings cross a JSON pipe); with isolation "none" the bytes are passed through untouched.
 * aha never calls score_batch concurrently on one handle.
 *
 * Compatibility: a later, incompatible ABI gets a new symbol (aha_reward_v2) and version; fields may be
 * appended to aha_reward_plugin_v1 only together with a larger struct_size.
 */
#ifndef AHA_REWARD_V1_H
#define AHA_REWARD_V1_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define AHA_REWARD_ABI_VERSION 1u
#define AHA_REWARD_ENTRY_V1 "aha_reward_v1"

#if defined(__GNUC__) || defined(__clang__)
#define AHA_REWARD_EXPORT __attribute__((visibility("default")))
#else
#define AHA_REWARD_EXPORT
#endif

typedef struct aha_reward_input_v1 {
  const char* prompt;
  size_t prompt_size;
  const char* completion;
  size_t completion_size;
  const char* answer; /* ground truth */
  size_t answer_size;
} aha_reward_input_v1;

typedef struct aha_reward_plugin_v1 {
  uint32_t abi_version; /* AHA_REWARD_ABI_VERSION */
  uint32_t struct_size; /* sizeof(aha_reward_plugin_v1) */
  const char* name;     /* for logs, e.g. "boxed_match" */
  int (*init)(const char* config_json, void** handle, char* error, size_t error_size);
  int (*score_batch)(void* handle, size_t n, const aha_reward_input_v1* inputs, float* scores);
  void (*destroy)(void* handle);
} aha_reward_plugin_v1;

typedef const aha_reward_plugin_v1* (*aha_reward_entry_v1)(void);

#ifdef __cplusplus
}
#endif

#endif /* AHA_REWARD_V1_H */
