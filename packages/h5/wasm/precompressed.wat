;; Strata "precompressed passthrough" HDF5 filter plugin for h5wasm (filter id 32015, zstd).
;;
;; An emscripten wasm SIDE MODULE that HDF5 (inside h5wasm) loads from its plugin directory like
;; h5wasm-plugins' libH5Z*.so files. This file is the source of wasm/plugin/libH5Zstrata_precompressed.so,
;; assembled by scripts/build-precompressed.mjs (wabt, then a dylink.0 section is prepended). At
;; run time src/precompressed.ts adds a "needed" entry naming h5wasm-plugins' libH5Zzstd.so, which
;; provides the ZSTD_* imports. Used only by a dedicated h5wasm instance, never next to the real
;; zstd plugin.
;;
;; Encode (flags without H5Z_FLAG_REVERSE = 0x100):
;;   * chunk buffer starting with a TOKEN (32 bytes, little-endian):
;;       0  u64  TOKEN_MAGIC  bytes 89 53 54 52 50 43 0d 0a ("\89STRPC\r\n")
;;       8  u32  payload      heap address of a malloc'ed PAYLOAD block
;;      12  u32  frameLen     length of the zstd frame in the block
;;      16  u64  nonce        random, non-zero; must equal the block's
;;      24  u32  chunkBytes   must equal nbytes (the chunk's size)
;;      28  u32  receipt      heap address of a u32 the filter sets to 1 once the block is taken
;;     PAYLOAD block: u64 nonce, u32 frameLen, u32 PAYLOAD_MAGIC "PCLD", then the frame.
;;     Every field and the frame's zstd magic are checked (bounds against the current memory
;;     size); on success the header is wiped, the frame is moved to the block's start, the chunk
;;     buffer is freed and replaced by the block (HDF5 stores the precompressed frame as the chunk
;;     and frees the block), and the receipt is set: the caller frees the blocks without one.
;;     A buffer that starts with TOKEN_MAGIC but fails a check makes the filter fail (return 0):
;;     HDF5 reports "filter returned failure", the chunk is not written.
;;   * any other buffer: ZSTD_compress at cd_values[0] (default 3), one frame with content size,
;;     as h5wasm-plugins' zstd filter does.
;; Decode (flags with 0x100): one zstd frame with a content size, ZSTD_decompress; any error, a
;; missing content size or a short result makes the filter fail (return 0).
(module
  (import "env" "memory" (memory 0))
  (import "env" "__indirect_function_table" (table 0 funcref))
  (import "env" "__memory_base" (global $memory_base i32))
  (import "env" "__table_base" (global $table_base i32))
  (import "env" "malloc" (func $malloc (param i32) (result i32)))
  (import "env" "free" (func $free (param i32)))
  ;; zstd itself: h5wasm-plugins' libH5Zzstd.so, loaded as this module's NEEDED library (the
  ;; dylink.0 section written at run time by src/precompressed.ts names its absolute path)
  (import "env" "ZSTD_compressBound" (func $ZSTD_compressBound (param i32) (result i32)))
  (import "env" "ZSTD_compress" (func $ZSTD_compress (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "ZSTD_decompress" (func $ZSTD_decompress (param i32 i32 i32 i32) (result i32)))
  (import "env" "ZSTD_getFrameContentSize" (func $ZSTD_getFrameContentSize (param i32 i32) (result i64)))
  (import "env" "ZSTD_isError" (func $ZSTD_isError (param i32) (result i32)))

  ;; static data (dylink.0 declares 160 bytes): 0..127 the filter name (the same as h5wasm-plugins'
  ;; zstd filter, so the pipeline message is identical), 128..159 the H5Z_class2_t
  (data (global.get $memory_base)
    "HDF5 zstd filter; see https://github.com/HDFGroup/hdf5_plugins/blob/master/docs/RegisteredFilterPlugins.md\00")
  (elem (global.get $table_base) func $filter)

  (func (export "H5PLget_plugin_type") (result i32)
    ;; H5PL_TYPE_FILTER
    i32.const 0)

  (func (export "H5PLget_plugin_info") (result i32)
    (local $cls i32)
    (local.set $cls (i32.add (global.get $memory_base) (i32.const 128)))
    (i32.store offset=0 (local.get $cls) (i32.const 1))       ;; version = H5Z_CLASS_T_VERS
    (i32.store offset=4 (local.get $cls) (i32.const 32015))   ;; id
    (i32.store offset=8 (local.get $cls) (i32.const 1))       ;; encoder_present
    (i32.store offset=12 (local.get $cls) (i32.const 1))      ;; decoder_present
    (i32.store offset=16 (local.get $cls) (global.get $memory_base)) ;; name
    (i32.store offset=20 (local.get $cls) (i32.const 0))      ;; can_apply
    (i32.store offset=24 (local.get $cls) (i32.const 0))      ;; set_local
    (i32.store offset=28 (local.get $cls) (global.get $table_base)) ;; filter (table index)
    (local.get $cls))

  ;; size_t filter(unsigned flags, size_t cd_nelmts, const unsigned cd_values[], size_t nbytes,
  ;;               size_t *buf_size, void **buf)
  (func $filter (param $flags i32) (param $cd_nelmts i32) (param $cd_values i32) (param $nbytes i32)
                (param $buf_size i32) (param $buf i32) (result i32)
    (if (i32.and (local.get $flags) (i32.const 0x100))
      (then (return (call $decode (local.get $nbytes) (local.get $buf_size) (local.get $buf)))))
    (if (i32.ge_u (local.get $nbytes) (i32.const 32))
      (then
        (if (i64.eq (i64.load (i32.load (local.get $buf))) (i64.const 0x0a0d435052545389))
          (then (return (call $take_token (local.get $nbytes) (local.get $buf_size) (local.get $buf)))))))
    (call $compress (local.get $cd_nelmts) (local.get $cd_values) (local.get $nbytes) (local.get $buf_size) (local.get $buf)))

  ;; memory size in bytes as u64
  (func $mem_bytes (result i64)
    (i64.shl (i64.extend_i32_u (memory.size)) (i64.const 16)))

  (func $take_token (param $nbytes i32) (param $buf_size i32) (param $buf i32) (result i32)
    (local $tok i32) (local $ptr i32) (local $len i32) (local $nonce i64) (local $receipt i32)
    (local.set $tok (i32.load (local.get $buf)))
    (local.set $ptr (i32.load offset=8 (local.get $tok)))
    (local.set $len (i32.load offset=12 (local.get $tok)))
    (local.set $nonce (i64.load offset=16 (local.get $tok)))
    (if (i32.ne (i32.load offset=24 (local.get $tok)) (local.get $nbytes)) (then (return (i32.const 0))))
    (local.set $receipt (i32.load offset=28 (local.get $tok)))
    (if (i32.lt_u (local.get $receipt) (i32.const 1024)) (then (return (i32.const 0))))
    (if (i32.and (local.get $receipt) (i32.const 3)) (then (return (i32.const 0))))
    (if (i64.gt_u (i64.add (i64.extend_i32_u (local.get $receipt)) (i64.const 4)) (call $mem_bytes))
      (then (return (i32.const 0))))
    (if (i64.eqz (local.get $nonce)) (then (return (i32.const 0))))
    ;; a zstd frame has at least 4 (magic) + 2 (header) + 3 (block header) bytes
    (if (i32.lt_u (local.get $len) (i32.const 9)) (then (return (i32.const 0))))
    (if (i32.lt_u (local.get $ptr) (i32.const 1024)) (then (return (i32.const 0))))
    (if (i32.and (local.get $ptr) (i32.const 7)) (then (return (i32.const 0))))
    (if (i64.gt_u
          (i64.add (i64.add (i64.extend_i32_u (local.get $ptr)) (i64.const 16)) (i64.extend_i32_u (local.get $len)))
          (call $mem_bytes))
      (then (return (i32.const 0))))
    (if (i64.ne (i64.load offset=0 (local.get $ptr)) (local.get $nonce)) (then (return (i32.const 0))))
    (if (i32.ne (i32.load offset=8 (local.get $ptr)) (local.get $len)) (then (return (i32.const 0))))
    (if (i32.ne (i32.load offset=12 (local.get $ptr)) (i32.const 0x444c4350)) (then (return (i32.const 0))))
    (if (i32.ne (i32.load offset=16 (local.get $ptr)) (i32.const 0xfd2fb528)) (then (return (i32.const 0))))
    ;; consume: wipe the header (a second use of the token fails), move the frame to the start
    (i64.store offset=0 (local.get $ptr) (i64.const 0))
    (i64.store offset=8 (local.get $ptr) (i64.const 0))
    (memory.copy (local.get $ptr) (i32.add (local.get $ptr) (i32.const 16)) (local.get $len))
    (i32.store (local.get $receipt) (i32.const 1))
    (call $free (local.get $tok))
    (i32.store (local.get $buf) (local.get $ptr))
    (i32.store (local.get $buf_size) (i32.add (local.get $len) (i32.const 16)))
    (local.get $len))

;; one zstd frame of *buf at level cd_values[0] (default 3), as h5wasm-plugins' zstd filter does
  (func $compress (param $cd_nelmts i32) (param $cd_values i32) (param $nbytes i32) (param $buf_size i32) (param $buf i32) (result i32)
    (local $level i32) (local $bound i32) (local $out i32) (local $r i32)
    (local.set $level (i32.const 3))
    (if (local.get $cd_nelmts) (then (local.set $level (i32.load (local.get $cd_values)))))
    (local.set $bound (call $ZSTD_compressBound (local.get $nbytes)))
    (if (call $ZSTD_isError (local.get $bound)) (then (return (i32.const 0))))
    (local.set $out (call $malloc (local.get $bound)))
    (if (i32.eqz (local.get $out)) (then (return (i32.const 0))))
    (local.set $r (call $ZSTD_compress (local.get $out) (local.get $bound)
      (i32.load (local.get $buf)) (local.get $nbytes) (local.get $level)))
    (if (call $ZSTD_isError (local.get $r))
      (then (call $free (local.get $out)) (return (i32.const 0))))
    (call $free (i32.load (local.get $buf)))
    (i32.store (local.get $buf) (local.get $out))
    (i32.store (local.get $buf_size) (local.get $bound))
    (local.get $r))

  ;; one zstd frame with its content size; anything else (no size, damage, trailing bytes) fails
  (func $decode (param $nbytes i32) (param $buf_size i32) (param $buf i32) (result i32)
    (local $fcs i64) (local $size i32) (local $out i32) (local $r i32)
    (local.set $fcs (call $ZSTD_getFrameContentSize (i32.load (local.get $buf)) (local.get $nbytes)))
    ;; ZSTD_CONTENTSIZE_UNKNOWN (-1) and _ERROR (-2) are huge as unsigned: refused with the rest
    (if (i64.eqz (local.get $fcs)) (then (return (i32.const 0))))
    (if (i64.gt_u (local.get $fcs) (i64.const 0x7fffffff)) (then (return (i32.const 0))))
    (local.set $size (i32.wrap_i64 (local.get $fcs)))
    (local.set $out (call $malloc (local.get $size)))
    (if (i32.eqz (local.get $out)) (then (return (i32.const 0))))
    (local.set $r (call $ZSTD_decompress (local.get $out) (local.get $size) (i32.load (local.get $buf)) (local.get $nbytes)))
    (if (i32.or (call $ZSTD_isError (local.get $r)) (i32.ne (local.get $r) (local.get $size)))
      (then (call $free (local.get $out)) (return (i32.const 0))))
    (call $free (i32.load (local.get $buf)))
    (i32.store (local.get $buf) (local.get $out))
    (i32.store (local.get $buf_size) (local.get $size))
    (local.get $size))
)
