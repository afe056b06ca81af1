package version

// Version is the release of this build; "dev" when built without the linker flag.
var Version = "dev"
