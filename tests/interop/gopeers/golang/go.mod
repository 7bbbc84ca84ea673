module interop.test/golang

go 1.24

require (
	github.com/golang/groupcache v0.0.0-20241129210726-2c02b8208cf8
	interop.test/front v0.0.0
)

require (
	github.com/golang/protobuf v1.5.4 // indirect
	google.golang.org/protobuf v1.33.0 // indirect
)

replace interop.test/front => ../front
