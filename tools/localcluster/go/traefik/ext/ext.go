// Package ext stands in for Traefik's nested module pkg/config/dynamic/ext, which its
// go.mod replaces with a local path that the published module zip leaves out. Upstream it
// is the extension point embedded (inline) in dynamic.HTTPConfiguration and dynamic.Router;
// the open-source build adds no fields, so two empty structs keep the same configuration.
package ext

// HTTP is embedded in dynamic.HTTPConfiguration.
type HTTP struct{}

// Router is embedded in dynamic.Router.
type Router struct{}
