;; The shared part of the WAT test guests (tests/integration/sandbox.rs splices it into each
;; guest's core module): the canonical-ABI glue of `run` from the WIT world `check`, for a
;; guest that only answers PASS for the first testcase it is asked.
;;
;; `run(testcases: list<string>, params: list<tuple<string, string>>) -> list<testcase-result>`
;; lowers to (testcases-ptr, testcases-len, params-ptr, params-len) -> result-ptr, where the
;; result pointer names (list-ptr, list-len) and each testcase-result is
;; id (ptr, len) at 0, verdict (u8) at 8, message (ptr, len) at 12: 20 bytes, align 4.
(global $bump (mut i32) (i32.const 4096))
(func (export "cabi_realloc") (param $old i32) (param $old_size i32) (param $align i32) (param $size i32) (result i32)
  (local $p i32)
  ;; align up, hand out, move the bump pointer (the guest never frees)
  (local.set $p (i32.and
    (i32.add (global.get $bump) (i32.sub (local.get $align) (i32.const 1)))
    (i32.sub (i32.const 0) (local.get $align))))
  (global.set $bump (i32.add (local.get $p) (local.get $size)))
  (local.get $p))
(func (export "run") (param $tc i32) (param $tc_len i32) (param $params i32) (param $params_len i32) (result i32)
  ;; result record at 64: the first testcase's id (its string, as lowered at $tc), PASS, no message
  (i32.store (i32.const 64) (i32.load (local.get $tc)))
  (i32.store (i32.const 68) (i32.load offset=4 (local.get $tc)))
  (i32.store8 (i32.const 72) (i32.const 0))
  (i32.store (i32.const 76) (i32.const 0))
  (i32.store (i32.const 80) (i32.const 0))
  ;; the list: one element at 64 (none when no testcase was asked)
  (i32.store (i32.const 16) (i32.const 64))
  (i32.store (i32.const 20) (select (i32.const 1) (i32.const 0) (local.get $tc_len)))
  (i32.const 16))
