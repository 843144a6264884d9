;; The component around a WAT test guest: the CORE placeholder (between at signs) is the
;; guest's core module (its memory 0 exported as `memory`, plus whatever it allocates), the
;; EXTRA placeholder more core modules and instances. It exports `run` of the world `check` (scs:check) with the types the world
;; names; wasmtime checks records and enums by structure.
(component
  (core module $m @CORE@)
  (core instance $i (instantiate $m))
  @EXTRA@
  (type $verdict' (enum "pass" "fail" "abort"))
  (export $verdict "verdict" (type $verdict'))
  (type $result' (record (field "id" string) (field "verdict" $verdict) (field "message" string)))
  (export $result "testcase-result" (type $result'))
  (func $run (param "testcases" (list string)) (param "params" (list (tuple string string)))
    (result (list $result))
    (canon lift (core func $i "run") (memory (core memory $i "memory"))
      (realloc (core func $i "cabi_realloc"))))
  (export "run" (func $run))
)
