"""The project's own tooling, apart from the course: the notebook runner, the `course-lib` command line and the docs builder."""
