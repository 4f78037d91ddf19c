// example-jobs: the runner executable that registers the example job functions.
import ExampleFunctions
import RQ

let functions = ExampleFunctions.registry
print("example-jobs: registered \(functions.names.joined(separator: ", "))")
