from waqtor.cli import main

main()
