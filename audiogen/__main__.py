from audiogen.cli import main

raise SystemExit(main())
