# tflint's bundled terraform ruleset with every rule on: documented and typed variables and
# outputs, snake_case names, standard module structure, pinned versions, no unused or
# deprecated syntax. (The azurerm ruleset cannot be built offline; see tools/toolchain.)
plugin "terraform" {
  enabled = true
  preset  = "all"
}
