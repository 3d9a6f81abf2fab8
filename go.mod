module github.com/patkit/patkit

go 1.24
