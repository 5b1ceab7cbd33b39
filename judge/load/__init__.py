"""Load: the user's input files (predictions) and rubric files, validated into the contracts
of `judge.contracts`, with file:line:field errors."""
