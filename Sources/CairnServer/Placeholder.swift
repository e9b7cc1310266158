import CairnSync
import Hummingbird
