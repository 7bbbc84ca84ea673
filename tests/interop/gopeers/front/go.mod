module interop.test/front

go 1.24
